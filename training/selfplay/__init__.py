"""PPO self-play in the patron game (docs/model.md section 11), scored by its exact NashConv."""
