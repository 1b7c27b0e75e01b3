"""Settings come from the environment; a missing one stops the app at start-up."""

import pytest

from taskapp import create_app
from taskapp.config import Config, ConfigError


def test_missing_table_name_fails_at_start_with_a_sentence(monkeypatch):
    monkeypatch.delenv("TABLE_NAME", raising=False)

    with pytest.raises(ConfigError, match="TABLE_NAME is not set"):
        create_app()


def test_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "taskapp-dev")
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")

    app = create_app()

    assert app.config["TABLE_NAME"] == "taskapp-dev"
    assert app.config["DYNAMODB_ENDPOINT"] == "http://127.0.0.1:8000"
    assert app.config["AWS_REGION"] == "eu-west-1"
    assert app.config["CORS_ORIGINS"] == ["https://a.example", "https://b.example"]


def test_unset_endpoint_means_real_dynamodb(monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "taskapp-prod")
    monkeypatch.delenv("DYNAMODB_ENDPOINT", raising=False)

    assert create_app().config["DYNAMODB_ENDPOINT"] is None


def test_malformed_number_setting_is_refused(monkeypatch):
    monkeypatch.setenv("DYNAMODB_READ_TIMEOUT", "soon")

    with pytest.raises(ConfigError, match="DYNAMODB_READ_TIMEOUT"):
        Config()


@pytest.mark.parametrize("name", ["ab", "tasks/dev", "my table", "x" * 256])
def test_a_table_name_dynamodb_would_refuse_fails_at_start(monkeypatch, name):
    monkeypatch.setenv("TABLE_NAME", name)

    with pytest.raises(ConfigError, match="is not a DynamoDB table name"):
        create_app()


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_task_limit_below_one_is_refused(monkeypatch, value):
    monkeypatch.setenv("TABLE_NAME", "taskapp-dev")
    monkeypatch.setenv("TASKS_PER_OWNER", value)

    with pytest.raises(ConfigError, match="TASKS_PER_OWNER"):
        create_app()
