"""The seed-repeat section (streamlit) a comparison page puts under its takeaways: a button that trains the page's
configs over lab.lessons.seeds.N_SEEDS seeds through lab.runs (each seed's run cached on its own, with the shared
progress bar), then the mean and spread beside the single run, and the verdicts."""
import streamlit as st

from lab import runs, shell
from lab.i18n import t
from lab.lessons import seeds


def repeat(key, configs, run_names, compared, summarize, data=None):
    """``configs`` (trained already on the page's seed, named ``run_names``) over every seed, once asked for.

    ``compared``: the names of the two sides (without BN, with BN); ``summarize(groups)`` turns the records, one
    list per seed in the order of ``configs``, into lab.lessons.seeds Comparisons. Shown at once when every run is
    cached or this session asked for these configs before; otherwise only the button."""
    st.subheader(t("seeds.title", n=seeds.N_SEEDS))
    seed_list = seeds.seeds(shell.seed())
    st.caption(t("seeds.caption", n=seeds.N_SEEDS, seeds=", ".join(map(str, seed_list))))
    groups = seeds.per_seed(configs, shell.seed())
    flat = [c for group in groups for c in group]
    pressed = st.button(t("seeds.button", n=seeds.N_SEEDS), key=f"{key}_seeds", icon=":material/replay:")
    if pressed:
        st.session_state[f"{key}_seeds_asked"] = tuple(flat)
    asked = st.session_state.get(f"{key}_seeds_asked") == tuple(flat)
    if not (pressed or asked or all(runs.cached(c) is not None for c in flat)):
        return
    names = [t("seeds.run_name", name=name, seed=s) for s in seed_list for name in run_names]
    records = shell.train(flat, names, data=data)
    per = len(configs)
    comparisons = summarize([records[i * per:(i + 1) * per] for i in range(seeds.N_SEEDS)])
    st.table(seeds.table(comparisons, compared, shell.seed()), hide_index=True)
    with st.container(border=True):  # shell.takeaways' box, titled for several runs
        st.markdown(f"**{t('seeds.takeaways', n=seeds.N_SEEDS)}**")
        st.markdown("\n".join(f"- {s}" for s in seeds.sentences(comparisons, compared)))
