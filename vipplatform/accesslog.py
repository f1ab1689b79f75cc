"""gunicorn's access log without passwords (gunicorn.conf.py names `AccessLogger`).

The old front end changes a password with `PUT /api/users/password?oldPassword=…&newPassword=…`,
a form the platform keeps; gunicorn writes the request line, the query string and any header
or environ value a log format names straight to its own log, past Django's logging filter. Every
value it can log goes through the same redaction as Django's log lines
(`vipplatform.logging.redact_passwords`)."""

from gunicorn.glogging import Logger

from .logging import redact_passwords


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact_passwords(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }
