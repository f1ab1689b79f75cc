from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API, its raw data form labelled in Chinese (DRF writes the labels in
    English, out of any catalog's reach; templates/rest_framework/base.html does the rest)."""

    def get_raw_data_form(self, data, view, method, request):
        form = super().get_raw_data_form(data, view, method, request)
        if form is not None:
            form.fields["_content_type"].label = "媒体类型"
            form.fields["_content"].label = "内容"
        return form
