"""Markers for the website tests, from the fixtures a test uses: the built site runs every chapter (Keras,
minutes), the browser is Chromium."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "site" not in item.path.parts[-2:-1]:
            continue
        if "site" in item.fixturenames:
            item.add_marker("keras")
            item.add_marker("slow")
        if "browser" in item.fixturenames:
            item.add_marker("browser")
