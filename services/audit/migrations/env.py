from phoi_audit.models import Base
from phoi_kit.migrations import run_env

run_env(Base.metadata, env_var="AUDIT_DATABASE_URL")
