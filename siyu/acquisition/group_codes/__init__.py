"""Group live codes (群活码, B3): one WeCom join way over an ordered list of customer groups that
moves on when a group is full."""
