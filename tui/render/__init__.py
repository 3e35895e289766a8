"""Pure renderers: data in, text out; no app, no widgets."""
