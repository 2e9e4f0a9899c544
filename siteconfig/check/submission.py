"""[submission] against the configuration: the account the suite logs in with on port 587
is in MTA-RX's SASL accounts (rx/sasl-users), with that password."""

from siteconfig.check.context import Context, Finding

__all__ = ["check_submission"]


def check_submission(ctx: Context) -> list[Finding]:
    submission = ctx.policy.submission
    if not submission.enabled:
        return []
    accounts = {entry.split()[0]: entry.split()[1:] for _, entry in ctx.files.entries("rx/sasl-users")}
    login = submission.login.split("@", 1)[0]
    if accounts.get(login) == [submission.password]:
        return []
    return [Finding(ctx.policy_file, ctx.at("submission", "login"),
                    f"no account {login} with that password in {ctx.files.shown('rx/sasl-users')}")]
