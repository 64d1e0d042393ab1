from phoi_identity.models import Base
from phoi_kit.migrations import run_env

run_env(Base.metadata, env_var="IDENTITY_DATABASE_URL")
