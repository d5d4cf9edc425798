"""The dashboard in a real browser against a real API, Redis and Coq worker: an evaluation's
progress moves while it runs, a job's tree is drawn with its proof path, a theorem submitted
from the page comes back proved, and the keyboard reaches every control."""

from __future__ import annotations

import json

import pytest

from support.browser import screenshot
from support.service_helpers import API_KEY, finished, wait_job, wait_registered, wait_until

pytestmark = pytest.mark.coq

#: One proved at once, two that spend their whole 3 s budget (widening keeps them busy), one
#: worker taking one job at a time: the run lasts about 7 s, long enough to watch it move.
EVAL_NAMES = ["mathd_numbertheory_254", "amc12b_2021_p13", "imo_1959_p1"]
EVAL_BUDGET = {"wall_timeout_s": 3, "tactic_timeout_s": 2, "widen_to": 64}

COMM = {
    "prover": "coq",
    "header": "Require Import Arith Lia.",
    "statement": "Theorem add_comm_twice : forall a b : nat, a + b + 0 = b + a.",
    "budget": {"wall_timeout_s": 20},
}


def start_eval(api, names=EVAL_NAMES, budget=EVAL_BUDGET) -> str:
    response = api.post("/v1/evals", json={"split": "test", "names": names, "budget": budget})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_an_evaluation_s_progress_moves_while_it_runs(api, workers, rdb, page, minif2f_coq):
    workers("w1", concurrency=1)
    wait_registered(rdb, "w1")
    eval_id = start_eval(api)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/events" in r.url else None)
    page.goto(f"/ui/#/evals/{eval_id}")
    progress = page.locator("#eval-progress")
    progress.wait_for()
    # Every value the bar takes, recorded in the page (polling from here could miss one).
    page.evaluate(
        """() => { window.seen = [];
        const note = () => { const bar = document.querySelector('#eval-progress');
                             if (bar) window.seen.push(bar.value); };
        note();
        new MutationObserver(note).observe(document.querySelector('main'),
          {subtree: true, attributes: true, attributeFilter: ['value']});
        window.noting = setInterval(note, 100); }"""
    )
    page.wait_for_function(
        "() => document.querySelector('#eval-progress').value === 3", timeout=60_000
    )
    seen = page.evaluate("() => { clearInterval(window.noting); return window.seen; }")
    assert min(seen) < 3, f"the page never saw the run unfinished: {seen}"
    assert sorted(seen) == seen, f"progress went backwards: {seen}"
    # The stream's last event closes it: no reconnecting to a finished run (EventSource
    # retries after about 3 s).
    page.wait_for_timeout(4_000)
    assert len(streams) == 1, streams
    # Once done: the counts, the category table, the time split and every row.
    page.wait_for_selector("#eval-rows tbody tr >> nth=2")
    counts = page.locator("#eval-counts").inner_text()
    assert "proved" in counts and page.locator("#by-category tbody tr").count() >= 2
    assert page.locator("#time-split span").count() == 5
    assert page.locator("#time-per-theorem canvas").count() >= 1
    assert "mathd_numbertheory_254" in page.locator("#eval-rows").inner_text()
    screenshot(page, "evaluation")
    # The list shows the run, finished.
    page.goto("/ui/#/evals")
    row = page.locator(f"tr[data-eval='{eval_id}']")
    row.wait_for()
    assert "3/3" in row.inner_text()


def test_two_runs_compare_side_by_side(api, workers, rdb, page, minif2f_coq):
    workers("w1", concurrency=2)
    wait_registered(rdb, "w1")
    quick = {"wall_timeout_s": 10, "tactic_timeout_s": 2, "widen_to": 16}
    # Run B has no time to prove anything: the proved theorem is A's alone.
    first = start_eval(api, ["mathd_numbertheory_254", "amc12b_2021_p13"], quick)
    second = start_eval(api, ["mathd_numbertheory_254", "amc12b_2021_p13"],
                        {**quick, "max_expansions": 1, "tactics_per_expansion": 1})  # fmt: skip
    for eval_id in (first, second):
        wait_eval(api, eval_id)
    page.goto(f"/ui/#/compare/{first}/{second}")
    page.locator("#compare-counts").wait_for()
    proved_b = api.get(f"/v1/evals/{second}").json()["solved"]
    only_a = page.locator("#only-a tbody tr").count()
    assert only_a == 1 - proved_b
    if only_a:
        assert "mathd_numbertheory_254" in page.locator("#only-a").inner_text()
    screenshot(page, "compare")


def wait_eval(api, eval_id: str) -> dict:
    return wait_until(
        lambda: (lambda v: v if v["done"] == v["total"] else None)(
            api.get(f"/v1/evals/{eval_id}").json()
        ),
        120,
        "the evaluation to finish",
        every=0.2,
    )


def test_a_job_s_tree_renders_with_its_proof_path_highlighted(api, workers, rdb, page):
    workers("w1")
    wait_registered(rdb, "w1")
    response = api.post("/v1/proofs", json=COMM)
    assert response.status_code == 202, response.text
    job = wait_job(api, response.json()["id"], 60, finished)
    assert job["status"] == "proved", job
    tree = job["result"]["tree"]
    page.goto(f"/ui/#/jobs/{job['id']}")
    page.wait_for_selector("#tree[data-render-ms]")
    assert page.locator("#job-proof").inner_text().strip() == job["proof"].strip()
    assert int(page.locator("#tree").get_attribute("data-visible-nodes")) == len(tree)
    # The proof path: the proved node and its ancestors, as the API's tree has them.
    by_id = {n["id"]: n for n in tree}
    node = next(n for n in tree if n["status"] == "proved")
    path = set()
    while node is not None:
        path.add(node["id"])
        node = by_id.get(node["parent"])
    assert set(page.evaluate("[...window.dcoproverTree.proofPath]")) == path
    # What the canvas shows at the proved node is the proved colour (drawn, not only computed).
    pixel = page.evaluate(
        """() => { const t = window.dcoproverTree;
        const id = [...t.proofPath][0]; const d = t.shown.get(id);
        const r = window.devicePixelRatio || 1;
        const x = Math.round((d.x * t.view.k + t.view.x) * r), y = Math.round((d.y * t.view.k + t.view.y) * r);
        return [...t.canvas.getContext('2d').getImageData(x, y, 1, 1).data]; }"""
    )
    assert pixel[:3] == [26, 127, 55], pixel
    # Keyboard: down to the first child shows a tactic; Enter collapses the root.
    page.locator("#tree").focus()
    page.keyboard.press("ArrowDown")
    assert "Tactic" in page.locator("#tree-node").inner_text()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert page.locator("#tree").get_attribute("data-visible-nodes") == "1"
    page.keyboard.press("Enter")
    assert int(page.locator("#tree").get_attribute("data-visible-nodes")) == len(tree)
    screenshot(page, "job-tree")


def test_a_theorem_submitted_from_the_page_comes_back_proved(api, workers, rdb, page):
    workers("w1")
    wait_registered(rdb, "w1")
    page.goto("/ui/#/submit")
    page.fill("#submit-statement", COMM["statement"])
    page.fill("#submit-header", COMM["header"])
    page.click("#submit-button")
    # Without a key the page says so and sends nothing.
    assert "API key" in page.locator("#submit-state").inner_text()
    page.fill("#key-input", API_KEY)
    page.click("#key-save")
    assert page.evaluate("sessionStorage.getItem('dcoprover-api-key')") == API_KEY
    page.click("#submit-button")
    page.wait_for_url("**/ui/#/jobs/*")
    page.wait_for_selector("#job-status.status-proved", timeout=60_000)
    assert page.locator("#job-proof").inner_text().strip()
    screenshot(page, "submitted")


def test_a_refused_submission_shows_the_api_s_reason(api, workers, rdb, page):
    workers("w1")
    wait_registered(rdb, "w1")
    page.goto("/ui/#/submit")
    page.fill("#key-input", API_KEY)
    page.click("#key-save")
    page.fill("#submit-statement", "Theorem bad : True. Admitted.")
    page.click("#submit-button")
    page.wait_for_function(
        "() => document.querySelector('#submit-state').textContent.includes('refused')"
    )
    assert "422" in page.locator("#submit-state").inner_text()
    page.problems[:] = [p for p in page.problems if "422" not in p]  # the refusal, expected


FOCUSABLE = "a[href], button, input, select, textarea, [tabindex='0']"


def tab_through(page, limit: int = 200) -> set[str]:
    """Press Tab until focus comes back round; the ids (or texts) of what took focus."""
    reached: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = page.evaluate(
            "(() => { const e = document.activeElement; if (!e || e === document.body) return '';"
            " return e.id || e.getAttribute('href') || e.textContent.trim(); })()"
        )
        if reached and name == reached[0]:
            break
        reached.append(name)
    return set(reached)


def controls(page) -> set[str]:
    return set(
        page.evaluate(
            f"""[...document.querySelectorAll("{FOCUSABLE}")]
            .filter(e => e.offsetParent !== null && !e.disabled)
            .map(e => e.id || e.getAttribute('href') || e.textContent.trim())"""
        )
    )


def test_the_keyboard_reaches_every_control(api, workers, rdb, page, minif2f_coq):
    workers("w1")
    wait_registered(rdb, "w1")
    response = api.post("/v1/proofs", json=COMM)
    job = wait_job(api, response.json()["id"], 60, finished)
    eval_id = start_eval(api, ["mathd_numbertheory_254"], {"wall_timeout_s": 10})
    wait_eval(api, eval_id)
    for hash_ in ("#/evals", f"#/evals/{eval_id}", f"#/jobs/{job['id']}", "#/submit"):
        page.goto(f"/ui/{hash_}")
        page.wait_for_function("h => document.body.dataset.ready === h", arg=hash_)
        page.wait_for_timeout(200)  # charts and the tree are drawn on the next frame
        missing = controls(page) - tab_through(page)
        assert not missing, f"{hash_}: Tab never reaches {sorted(missing)}"


def test_odd_input_gets_a_message_and_keeps_the_page(api, workers, rdb, page):
    """What red-teaming found: a malformed hash blanked the page, the skip link threw away a
    half-typed theorem, a tree that is not a tree drew nothing and said nothing, a null score
    (an infinite log-prob) crashed the side panel, and a double press queued two jobs."""
    page.goto("/ui/#/evals/%")
    page.wait_for_function("() => document.body.dataset.ready === '#/evals/%'")
    assert "URI" in page.locator("#error").inner_text()

    page.goto("/ui/#/submit")
    page.fill("#submit-statement", COMM["statement"])
    page.focus("a.skip")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    assert page.input_value("#submit-statement") == COMM["statement"]

    workers("w1")
    wait_registered(rdb, "w1")
    page.fill("#key-input", API_KEY)
    page.click("#key-save")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.evaluate("() => { const f = document.querySelector('form.submit');"
                  " f.requestSubmit(); f.requestSubmit(); }")  # fmt: skip
    page.wait_for_url("**/ui/#/jobs/*")
    assert len(posts) == 1, posts
    job_id = page.url.rsplit("/", 1)[1]
    job = wait_job(api, job_id, 60, finished)
    assert job["status"] == "proved", job

    key = f"prover:result:{job_id}"
    result = json.loads(rdb.get(key))
    result["tree"][1]["score"] = result["tree"][1]["logprob"] = None
    rdb.set(key, json.dumps(result))
    page.reload()  # the page is on this job already
    page.wait_for_selector("#tree[data-render-ms]")
    page.locator("#tree").focus()
    page.keyboard.press("ArrowDown")
    assert "score –" in page.locator("#tree-node").inner_text()

    result["tree"][0]["parent"] = result["tree"][-1]["id"]  # the root under its own leaf
    rdb.set(key, json.dumps(result))
    page.reload()
    page.wait_for_function("() => document.querySelector('#error').textContent !== ''")
    assert "search tree cannot be drawn" in page.locator("#error").inner_text()


def test_the_api_docs_load_nothing_from_another_origin(api, page):
    """/docs is FastAPI's Swagger UI with its files served from here: no CDN (a deployment may
    be offline), and no foreign script on the origin whose session storage holds the key."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/docs")
    page.wait_for_selector(".opblock-tag", timeout=20_000)
    assert "/v1/proofs" in page.locator("#swagger-ui").inner_text()
    foreign = [u for u in requested if not u.startswith((str(api.base_url), "data:"))]
    assert not foreign, foreign
    assert api.head("/ui/").status_code == 200
