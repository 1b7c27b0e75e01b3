"""Who is calling, and so whose tasks a request may see (SPEC.md section 7).

AUTH_MODE chooses, per stage:
- none: every task belongs to one local owner. A bearer token, when one is sent, must be
  signed by the local development key (`flask dev-token NAME`), and names the owner.
- jwt: the app verifies `Authorization: Bearer <JWT>` itself against the keys at
  AUTH_JWKS_URL, with issuer AUTH_ISSUER and audience (or Cognito client id) AUTH_AUDIENCE.
- cognito: an API Gateway Cognito user-pool authorizer has verified the token already;
  the owner is its `sub` claim, which Zappa hands over in the WSGI environ.
The owner is the token's `sub` claim in every mode. Its address, where reminders go (SPEC
section 10), is the token's `email` claim when `email_verified` is true, as in Cognito's ID
tokens; never one that a request body names.
"""

from functools import cached_property
from pathlib import Path

from flask import current_app, g, request

# Only asymmetric algorithms: a public key can never be used as an HMAC secret.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
CLOCK_SKEW_SECONDS = 30
DEV_ISSUER = DEV_AUDIENCE = "taskapp-local-dev"


class Unauthenticated(Exception):
    """The request names no caller this stage trusts; ``presented`` is whether it sent a token."""

    def __init__(self, message, presented):
        super().__init__(message)
        self.message = message
        self.presented = presented


class AuthUnavailable(Exception):
    """The keys that verify tokens cannot be fetched right now."""


def init_app(app):
    app.extensions["taskapp.auth"] = _AUTHENTICATORS[app.config["AUTH_MODE"]](app.config)


def authenticate():
    """Runs before every tasks view: sets the caller's owner id, or refuses the request."""
    if request.method != "OPTIONS":  # CORS preflights carry no credentials
        g.owner, g.email = current_app.extensions["taskapp.auth"].caller()


def current_owner() -> str:
    return g.owner


def current_email() -> str | None:
    """The caller's verified email address, or None."""
    return g.email


def verified_email(claims) -> str | None:
    """The token's email when the token says it is verified (API Gateway passes "true")."""
    email = claims.get("email")
    if claims.get("email_verified") in (True, "true") and isinstance(email, str) and email:
        return email
    return None


def _bearer_token():
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be a Bearer token", presented=True)
    return token.strip()


class _Verifier:
    """Checks a JWT's signature, issuer, audience (or client_id) and expiry; returns its sub
    and verified email."""

    def __init__(self, issuer, audience):
        self.issuer = issuer
        self.audience = audience

    def key_for(self, token):
        raise NotImplementedError

    def caller(self, token):
        import jwt  # imported on first use: it brings in cryptography, which costs a cold start

        try:
            claims = jwt.decode(
                token,
                self.key_for(token),
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.PyJWKClientConnectionError as error:
            raise AuthUnavailable from error
        except jwt.PyJWTError:
            raise Unauthenticated("The token is invalid or expired", presented=True) from None
        # Cognito's ID tokens carry the app client id as aud, its access tokens as client_id.
        audiences = claims.get("aud", claims.get("client_id"))
        if isinstance(audiences, str):
            audiences = [audiences]
        if self.audience not in (audiences or []):
            raise Unauthenticated("The token is not meant for this API", presented=True)
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise Unauthenticated("The token names no subject", presented=True)
        return claims["sub"], verified_email(claims)


class _JWKSVerifier(_Verifier):
    def __init__(self, jwks_url, issuer, audience):
        super().__init__(issuer, audience)
        self.jwks_url = jwks_url

    @cached_property
    def keys(self):
        import jwt

        if self.jwks_url.startswith("https://"):
            # Caches the key set, and fetches it again when a token names a key id it lacks.
            return jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=3600, timeout=2)
        return _FileKeys(Path(self.jwks_url))

    def key_for(self, token):
        import jwt

        try:
            return self.keys.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientConnectionError:
            raise
        except jwt.PyJWTError:
            raise Unauthenticated("The token is invalid or expired", presented=True) from None


class _FileKeys:
    """A key set in a local file (tests, local use), read again when a key id is new to it.

    PyJWKClient, which does this for https URLs, refuses file URLs.
    """

    def __init__(self, path):
        self.path = path
        self.key_set = None

    def get_signing_key_from_jwt(self, token):
        import jwt

        kid = jwt.get_unverified_header(token).get("kid")
        for fresh in (False, True):
            if fresh or self.key_set is None:
                try:
                    self.key_set = jwt.PyJWKSet.from_json(self.path.read_text())
                except OSError as error:
                    raise jwt.PyJWKClientConnectionError(f"Cannot read {self.path}") from error
            matches = [key for key in self.key_set.keys if key.key_id == kid]
            if matches:
                return matches[0]
        raise jwt.PyJWKClientError(f"No key {kid!r} in {self.path}")


class _DevKeyVerifier(_Verifier):
    """The local development key: trusted by AUTH_MODE=none only."""

    def __init__(self, path):
        super().__init__(DEV_ISSUER, DEV_AUDIENCE)
        self.path = Path(path)

    def key_for(self, token):
        if not self.path.exists():
            raise Unauthenticated(
                "No development key exists here: mint a token with `flask dev-token NAME`",
                presented=True,
            )
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key(self.path.read_bytes(), password=None).public_key()


class NoAuth:
    def __init__(self, config):
        self.local_owner = config["LOCAL_OWNER"]
        self.dev_key = _DevKeyVerifier(config["AUTH_DEV_KEY"])

    def caller(self):
        token = _bearer_token()
        return (self.local_owner, None) if token is None else self.dev_key.caller(token)


class JWTAuth:
    def __init__(self, config):
        self.verifier = _JWKSVerifier(
            config["AUTH_JWKS_URL"], config["AUTH_ISSUER"], config["AUTH_AUDIENCE"]
        )

    def caller(self):
        token = _bearer_token()
        if token is None:
            raise Unauthenticated("Authentication required: send a Bearer token", presented=False)
        return self.verifier.caller(token)


class CognitoAuthorizerAuth:
    def __init__(self, config):
        pass

    def caller(self):
        authorizer = request.environ.get("API_GATEWAY_AUTHORIZER") or {}
        claims = authorizer.get("claims") or {}
        sub = claims.get("sub")
        if not sub:
            raise Unauthenticated("Authentication required: send a Bearer token", presented=False)
        return sub, verified_email(claims)


_AUTHENTICATORS = {"none": NoAuth, "jwt": JWTAuth, "cognito": CognitoAuthorizerAuth}
AUTH_MODES = tuple(_AUTHENTICATORS)
