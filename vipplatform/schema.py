"""drf-spectacular's view of the project's API pieces."""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class VipSessionScheme(SessionScheme):
    target_class = "vipplatform.authentication.SessionAuthentication"


class AutoSchema(SpectacularAutoSchema):
    """Imported by DRF on first use, which also registers the extension above."""
