"""The power list as a whole: the catalogue of items, their example paths and printable flowcharts."""
