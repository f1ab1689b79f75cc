"""Tools for development and the tests, not part of the product: local fakes of WeChat Pay and
Alipay (`fakes.py`, which `FAKE_GATEWAYS=true bin/run` serves with `manage.py fake_gateways`).
Installed as an app only with DEBUG on or FAKE_GATEWAYS=true (config/settings/base.py)."""
