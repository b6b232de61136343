"""Feedback by QR code on the bus: the residents' form, printable QR posters and the coordinators' results."""
from flask import Blueprint

bp = Blueprint("feedback", __name__)


@bp.context_processor
def _links():
    from . import links

    return {"stop_page": links.stop_page, "district_page": links.district_page}


from . import posters, results, views  # noqa: E402,F401  (the views register themselves on bp)


def init_app(app) -> None:
    app.register_blueprint(bp)
