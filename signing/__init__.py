"""Keys, certificates, CMS and the HABv4 signing layouts (imports ``formats`` only)."""
