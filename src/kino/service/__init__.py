"""The job service behind `kino serve`."""
