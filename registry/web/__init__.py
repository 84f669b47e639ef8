"""Web infrastructure every feature's pages share (who may open what)."""
