"""`vsearch serve`: a web page and a JSON API over one library, with the models kept warm."""

from vsearch.server.config import Limits, ServerConfig, check_exposure, is_loopback
from vsearch.server.running import serve

__all__ = ["Limits", "ServerConfig", "check_exposure", "is_loopback", "serve"]
