from phoi_kit.cli import serve

from phoi_audit.settings import Settings

serve("phoi_audit.main:create_app", Settings())
