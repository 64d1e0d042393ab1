"""`python -m phoi_requests.migrate [revision]`: what the Kubernetes migration Job runs."""

from phoi_kit.cli import migrate
from phoi_kit.migrations import locate

from phoi_requests.settings import Settings

MIGRATIONS = locate(__file__)

if __name__ == "__main__":
    migrate(MIGRATIONS, Settings())
