# Sourced by bench/*/run.sh: sets training to the first training file that
# exists (the shared fkd-ytf set beside the repository, then the user's
# Kaggle files in data/), or to nothing.
training=
for f in ../shared/data/fkd-ytf/training.zip data/training.zip data/training.csv; do
	if [ -f "$f" ]; then
		training=$f
		break
	fi
done
