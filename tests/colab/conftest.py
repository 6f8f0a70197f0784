"""Markers for the Colab simulation, from the fixtures a test uses: a Colab-like environment takes minutes
to build the first time and runs each chapter on Colab's Pythons."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "colab" in item.path.parts[-2:-1] and "colab_python" in item.fixturenames:
            item.add_marker("colab")
            item.add_marker("slow")
