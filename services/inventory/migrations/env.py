from phoi_inventory.models import Base
from phoi_kit.migrations import run_env

run_env(Base.metadata, env_var="INVENTORY_DATABASE_URL")
