"""Seed the usual form types (a data migration): lower- and upper-secondary diplomas, the certificate of
completion of the general-education programme and the copy of the upper-secondary diploma.

Each seeded type also gets its ``form_type.created.v1`` event in the outbox, in the same transaction, so
the other services' replicas learn about it exactly as if an officer had created it. Codes, names and
serial formats match deploy/local/demo-seed.json (whose POSTs then answer 409 ``form_type_exists``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import uuid

import sqlalchemy as sa
from alembic import op
from phoi_contracts.envelope import Envelope
from phoi_contracts.events.inventory import FormTypeCreated

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SOURCE = "/phoi/inventory"
NAMESPACE = uuid.UUID("0b7e5a3c-53f1-4c1e-9a55-3f0f5b2d9e11")

SEED = (
    ("THCS", "Phôi bằng tốt nghiệp trung học cơ sở", "Lower-secondary school diploma blank", "CS"),
    ("THPT", "Phôi bằng tốt nghiệp trung học phổ thông", "Upper-secondary school diploma blank", "PT"),
    (
        "CNHTCT",
        "Phôi giấy chứng nhận hoàn thành chương trình giáo dục phổ thông",
        "Certificate of completion of the general education programme blank",
        "HT",
    ),
    (
        "BSTHPT",
        "Phôi bản sao bằng tốt nghiệp trung học phổ thông",
        "Copy of upper-secondary school diploma blank",
        "BS",
    ),
)
DIGITS = 7
TEMPLATE_VERSION = "2024.1"


def upgrade() -> None:
    bind = op.get_bind()
    for code, name_vi, name_en, prefix in SEED:
        form_type_id = uuid.uuid5(NAMESPACE, code)
        inserted = bind.execute(
            sa.text(
                "INSERT INTO form_types (id, code, name_vi, name_en, serial_prefix, digits, template_version,"
                " active, version, created_by) VALUES (:id, :code, :name_vi, :name_en, :prefix, :digits,"
                " :template, true, 1, 'migration') ON CONFLICT (code) DO NOTHING RETURNING id"
            ),
            {
                "id": form_type_id,
                "code": code,
                "name_vi": name_vi,
                "name_en": name_en,
                "prefix": prefix,
                "digits": DIGITS,
                "template": TEMPLATE_VERSION,
            },
        ).first()
        if inserted is None:
            continue
        envelope = Envelope.wrap(
            FormTypeCreated(
                form_type_id=form_type_id,
                code=code,
                name=name_vi,
                name_en=name_en,
                digits=DIGITS,
                serial_prefix=prefix,
                template_version=TEMPLATE_VERSION,
                active=True,
            ),
            source=SOURCE,
        )
        bind.execute(
            sa.text(
                "INSERT INTO outbox (event_id, topic, key, type, payload) VALUES (:id, :topic, :key, :type, :payload)"
            ),
            {
                "id": envelope.id,
                "topic": envelope.topic,
                "key": envelope.subject,
                "type": envelope.type,
                "payload": envelope.model_dump_json(),
            },
        )


def downgrade() -> None:
    codes = [code for code, *_ in SEED]
    op.get_bind().execute(
        sa.text("DELETE FROM form_types WHERE code = ANY(:codes) AND created_by = 'migration'"), {"codes": codes}
    )
