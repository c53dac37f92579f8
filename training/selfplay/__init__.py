"""PPO self-play in the patron game (docs/model.md section 11), scored by its exact NashConv:
the rounds (``loop``), a PPO policy read off as action-probability tables (``tables``), the run
folder's rounds (``folder``) and its curve ``nashconv.json`` with its schema (``curve``)."""
