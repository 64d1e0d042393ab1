from phoi_kit.migrations import run_env
from phoi_requests.models import Base

run_env(Base.metadata, env_var="REQUESTS_DATABASE_URL")
