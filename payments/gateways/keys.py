"""RSA keys from PEM files, read once per process (and again when a file changes)."""

import logging
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

from ..exceptions import GatewayUnavailable

logger = logging.getLogger(__name__)


class KeyFileError(GatewayUnavailable):
    """A key file missing or unreadable. The buyer (or the provider) gets the usual 503; the
    path and the reason go to the log and to `manage.py check --deploy`."""

    def __init__(self, detail: str) -> None:
        super().__init__()
        self.detail = detail
        logger.error("payment key not usable: %s", detail)

    def __str__(self) -> str:
        return self.detail


def private_key(path: str) -> rsa.RSAPrivateKey:
    return _load(path, _mtime(path), private=True)


def public_key(path: str) -> rsa.RSAPublicKey:
    return _load(path, _mtime(path), private=False)


def _mtime(path: str) -> float:
    try:
        return Path(path).stat().st_mtime
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror}") from None


@cache
def _load(path: str, mtime: float, *, private: bool):
    try:
        data = Path(path).read_bytes()
        if private:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_pem_public_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyFileError(
            f"{path}: not a readable PEM {'private' if private else 'public'} key ({exc})"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise KeyFileError(f"{path}: not an RSA key")
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    """RSA-SHA256, PKCS#1 v1.5: what both providers sign with."""
    return key.sign(message, padding.PKCS1v15(), SHA256())


def rsa_verify(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(signature, message, padding.PKCS1v15(), SHA256())
    except InvalidSignature:
        return False
    return True
