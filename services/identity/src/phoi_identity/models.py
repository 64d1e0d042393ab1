"""The identity service's tables. The kit's tables (outbox, processed events, revocations) share the metadata."""

from phoi_kit.db import make_base

Base, kit_tables = make_base()
