"""The Cases workflow in a real browser: the case details stay open while typing, a saved case
opens on the Cases page, the chosen tab survives actions and messages stay in their tab."""

from __future__ import annotations

from browser_util import click, open_result, rerun, wait_idle

from knowledge.loader import load_knowledge

KB = load_knowledge()


def test_case_details_stay_open_while_typing(browser_page, app_url):
    page = browser_page
    page.goto(app_url + "/")
    wait_idle(page)
    page.get_by_text("Case details").first.click()  # an expander: opens in the page, no run
    title = page.get_by_label("Case title")
    title.click()
    title.type("Night shift")
    # the title is submitted: the page reruns, its label becomes the title
    rerun(page, lambda: page.keyboard.press("Tab"))
    page.get_by_text("Case details: Night shift").first.wait_for()
    page.keyboard.type("Sam")  # the focus went on to the next field, which is still there
    rerun(page, lambda: page.keyboard.press("Tab"))
    assert page.get_by_label("Notes (optional)").is_visible()
    assert page.get_by_label("Who or what it is about").input_value() == "Sam"

def test_a_saved_case_opens_and_its_tab_survives_actions(browser_page, app_url):
    page = browser_page
    case = next(c for c in KB.cases if c.id == "presentation-skills")
    open_result(page, app_url, case.answers)
    click(page, page.get_by_role("button", name="Save this case"))
    saved = page.locator('[data-testid="stAlert"]', has_text="Saved as case").first
    saved.wait_for()
    click(page, page.get_by_role("button", name="Save this case"))  # a second click saves nothing new
    saved.wait_for()
    cid = int(saved.inner_text().split("Saved as case ")[1].split(".")[0])
    click(page, page.get_by_role("button", name=f"Open case {cid}"))  # to the Cases page: a second run
    page.get_by_role("heading", name=f"#{cid} ", exact=False).first.wait_for()
    wait_idle(page)
    assert page.get_by_text(f"saved as case {cid}").first.is_visible()  # not offered for saving again
    click(page, page.get_by_role("tab", name="Plan"))  # a tab that reruns the page on a change
    click(page, page.get_by_role("button", name="Start the plan"))
    page.get_by_text("Plan started.").first.wait_for()
    wait_idle(page)
    assert page.get_by_role("tab", name="Plan").get_attribute("aria-selected") == "true"  # still on Plan
    click(page, page.get_by_role("tab", name="Overview"))  # returns once the run the switch started is over
    assert page.get_by_role("tab", name="Overview").get_attribute("aria-selected") == "true"
    assert page.get_by_text("Plan started.").count() == 0  # the message stayed with its tab
    click(page, page.get_by_role("tab", name="Monitor"))
    assert page.get_by_role("tab", name="Monitor").get_attribute("aria-selected") == "true"  # after its run
