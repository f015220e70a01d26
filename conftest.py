# Shared fixtures for every test directory (apps' own tests and tests/).
pytest_plugins = ["tests.fixtures", "tests.browser"]
