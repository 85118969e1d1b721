"""`nb2prod tag`: suggest tags for an untagged notebook, and write them."""
