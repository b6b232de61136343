"""Rules several features share, each defined once with a public interface: seats (`seats`), and the values every
page, script and export must agree on. A feature calls these; it never copies them."""
