"""The release version, written once: the Python package (pyproject reads it), the plugin
(``pulumi-resource-skyflow --version``, GetPluginInfo), the package schema and so every generated
SDK and the plugin archive's name all take it from here."""

__version__ = "0.1.0"
