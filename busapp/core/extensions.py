"""Flask extensions, created here and bound to the app in create_app()."""
import logging

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Named constraints keep migrations identical on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Database(SQLAlchemy):
    """Flask-SQLAlchemy, except that ending a request's session never fails the request.

    Closing the session rolls its transaction back; on a connection the database has dropped that rollback fails,
    and the error would escape the request after its answer was made (a bare 500 from the server). Here it is
    logged, the session is thrown away with its connection (which the pool discards), and the next request starts
    with a fresh one."""

    def _teardown_session(self, exc):
        try:
            self.session.remove()
        except Exception:  # noqa: BLE001 - a dead connection fails in driver-specific ways
            logging.getLogger(__name__).warning("ending the request's database session failed", exc_info=True)
            registry = self.session.registry
            if registry.has():
                try:
                    registry().invalidate()
                except Exception:  # noqa: BLE001
                    logging.getLogger(__name__).warning("discarding the session's connection failed", exc_info=True)
            registry.clear()


db = Database(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
