"""Keep the latest result on the case row (for listing and filtering), filled in from the history.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LATEST = "(SELECT c.{col} FROM consultations c WHERE c.case_id = cases.id ORDER BY c.id DESC LIMIT 1)"


def upgrade() -> None:
    op.add_column("cases", sa.Column("result_status", sa.String(20), nullable=True))
    op.add_column("cases", sa.Column("primary_intervention", sa.String(40), nullable=True))
    op.add_column("cases", sa.Column("confidence", sa.Float(), nullable=True))
    op.create_index("ix_cases_primary_intervention", "cases", ["primary_intervention"])
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"])
    # existing cases: copy the latest consultation's result onto the case
    op.execute(
        "UPDATE cases SET "
        f"result_status = {LATEST.format(col='status')}, "
        f"primary_intervention = {LATEST.format(col='primary_intervention')}, "
        f"confidence = {LATEST.format(col='confidence')}"
    )


def downgrade() -> None:
    op.drop_index("ix_cases_updated_at", table_name="cases")
    op.drop_index("ix_cases_primary_intervention", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("confidence")
        batch.drop_column("primary_intervention")
        batch.drop_column("result_status")
