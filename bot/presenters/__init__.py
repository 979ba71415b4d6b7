"""What staff and citizens read: staff texts, templates, reports, charts."""
