"""GAN methods as Ray Tune trainables: data, networks, latent priors, objectives, metrics."""
