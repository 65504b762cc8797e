from magictunnel.config.errors import ConfigError
from magictunnel.config.loader import LoadedConfig, load_config
from magictunnel.config.models import MagicTunnelConfig, RuntimeMode

__all__ = ["ConfigError", "LoadedConfig", "MagicTunnelConfig", "RuntimeMode", "load_config"]
