from phoi_kit.cli import serve

from phoi_inventory.settings import Settings

serve("phoi_inventory.main:create_app", Settings())
