"""A GLT method defined outside graphsparse (the plug-in tests install it by path or entry point)."""
