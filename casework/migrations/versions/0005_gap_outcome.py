"""The gap in numbers and the outcome of a closed case.

``cases.gap``: the structured gap {measure, current, target, unit, by} (JSON, optional).
``cases.outcome``: how a closed case ended (closed | partly | not_closed | stopped), and
``cases.closed_on``: the date it was closed. Existing cases get none of them (NULL): a case already
closed without an outcome counts as "outcome not recorded".

Revision ID: 0005
Revises: 0003 (re-chained onto 0004 when merged with the security work)
Create Date: 2026-12-07 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("gap", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(20), nullable=True))
        batch.add_column(sa.Column("closed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("closed_on")
        batch.drop_column("outcome")
        batch.drop_column("gap")
