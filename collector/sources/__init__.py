"""Sources: importers (files in -> records) and pollers (devices -> observations). They measure;
the catalog judges."""
