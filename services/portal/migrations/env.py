from phoi_kit.migrations import run_env
from phoi_portal.models import Base

run_env(Base.metadata, env_var="PORTAL_DATABASE_URL")
