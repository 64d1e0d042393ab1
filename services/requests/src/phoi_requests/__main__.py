from phoi_kit.cli import serve

from phoi_requests.settings import Settings

serve("phoi_requests.main:create_app", Settings())
