from phoi_kit.cli import serve

from phoi_portal.settings import Settings

serve("phoi_portal.main:create_app", Settings())
