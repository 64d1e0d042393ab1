from phoi_kit.cli import serve

from phoi_identity.settings import Settings

serve("phoi_identity.main:create_app", Settings())
