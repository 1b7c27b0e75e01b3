"""The stage's reminder sender: the SES identity that wsgi.send_reminders sends from.

SES sends only from a verified identity, the address itself or its domain, so the post-deploy
hook makes sure the stage's REMINDER_SENDER has one: a stage's first deploy then starts the
verification with no console clicks. When the domain is verified, the address needs nothing
more. Otherwise the hook creates the address's identity unless it exists, and SES emails the
address a link that verifies it. The hook never creates a domain identity: that takes DNS
records, which are the team's to publish.
"""

import click


def ensure_sender(sesv2, sender):
    """Make sure SES has an identity for `sender`, and say in one line whether it may send."""
    if sender.count("@") != 1 or not all(sender.split("@")):
        raise click.ClickException(f"REMINDER_SENDER must be an email address, not {sender!r}.")
    domain = sender.rpartition("@")[2]
    if _verified(_identity(sesv2, domain)):
        click.echo(f"Reminder sender {sender}: verified (its domain {domain} is).")
        return
    identity = _identity(sesv2, sender)
    if _verified(identity):
        click.echo(f"Reminder sender {sender}: verified.")
        return
    if identity is None:
        try:
            sesv2.create_email_identity(EmailIdentity=sender)
        except sesv2.exceptions.AlreadyExistsException:
            pass  # another deploy created it between our check and our request
        else:
            click.echo(
                f"Reminder sender {sender}: not verified; SES sent a verification email to "
                f"{sender}: open its link within 24 hours, and reminders go out from then on."
            )
            return
    # SES sends the email once, when the identity is created, and its link expires after a day.
    click.echo(
        f"Reminder sender {sender}: not verified yet; SES sent a verification email to "
        f"{sender} when the identity was created: open its link (if it expired, delete the "
        "identity in SES and deploy again)."
    )


def _identity(sesv2, name):
    """SES v2's GetEmailIdentity answer for the address or domain `name`, or None."""
    try:
        return sesv2.get_email_identity(EmailIdentity=name)
    except sesv2.exceptions.NotFoundException:
        return None


def _verified(identity):
    return bool(identity and identity.get("VerifiedForSendingStatus"))
