"""Languages: gettext catalogs under ``locales/`` read with babel."""
