"""Keys made in the test, a JWKS file for them, and tokens signed the right and the wrong way."""

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://issuer.test/pool"
AUDIENCE = "taskapp-client"


class Keys:
    def __init__(self):
        self.private = {
            "rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1()),
            "rsa-2": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        }
        self.algorithm = {"rsa-1": "RS256", "ec-1": "ES256", "rsa-2": "RS256"}

    def jwks(self, *kids):
        keys = []
        for kid in kids:
            public = self.private[kid].public_key()
            algorithm = jwt.get_algorithm_by_name(self.algorithm[kid])
            keys.append(json.loads(algorithm.to_jwk(public)) | {"kid": kid, "use": "sig"})
        return {"keys": keys}

    def token(self, sub="alice", kid="rsa-1", key=None, headers=None, **claims):
        now = int(time.time())
        payload = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
        payload = {k: v for k, v in (payload | claims).items() if v is not None}
        return jwt.encode(
            payload,
            key or self.private[kid],
            algorithm=self.algorithm[kid],
            headers={"kid": kid} | (headers or {}),
        )

    def public_pem(self, kid="rsa-1"):
        return (
            self.private[kid]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(sub="alice"):
    """alg "none": no signature at all."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    now = int(time.time())
    body = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}
    return f"{header}.{_b64(json.dumps(body).encode())}."


def hmac_token_with_public_key(keys, sub="alice"):
    """HS256 "signed" with the RSA public key as the secret: the classic key-confusion attack."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    now = int(time.time())
    body = {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}
    signing_input = f"{header}.{_b64(json.dumps(body).encode())}"
    signature = hmac.new(keys.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
